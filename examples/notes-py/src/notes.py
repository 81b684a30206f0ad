"""A small data API in Python on table `notes` (partition key `id`, S):

    POST /notes-py       {"text": "...", "meta": {...}?} -> 201 the note, with its new id
    GET  /notes-py/{id}  -> 200 the note, or 404

`meta` is any JSON object, stored as a DynamoDB map and returned as it came, numbers
exact (JSON floats are parsed as `Decimal`, whole numbers as `int`).
"""

import secrets

from portico_guest import DataError, HttpError, Request, Table, handler, json_response

MAX_TEXT = 1000


def note_input(body):
    """The note in a POST body, checked; HttpError 400 naming what is wrong."""
    if not isinstance(body, dict):
        raise HttpError(400, 'expected a JSON object like {"text": "..."}')
    for field in body:
        if field not in ("text", "meta"):
            raise HttpError(400, f"unknown field `{field}`", field=field)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise HttpError(400, "`text` must be a non-empty string", field="text")
    if len(text) > MAX_TEXT:
        raise HttpError(400, f"`text` must be at most {MAX_TEXT} characters", field="text")
    meta = body.get("meta")
    if "meta" in body and not isinstance(meta, dict):
        raise HttpError(400, "`meta` must be a JSON object", field="meta")
    return text, meta


def create(req: Request):
    text, meta = note_input(req.json())
    note = {"id": secrets.token_hex(12), "text": text, "created": req.time_epoch}
    if meta is not None:
        note["meta"] = meta
    try:
        # A fresh id; the condition only guards against the astronomically unlikely repeat.
        Table.open("notes").put(note, condition="attribute_not_exists(id)")
    except DataError as e:
        # What the store refuses in `meta` (a number over 38 digits, an item over 400 KB).
        if e.kind in ("validation", "item-too-large"):
            raise HttpError(400, str(e), field="meta") from None
        raise
    return json_response(note, status=201, headers={"location": f"/notes-py/{note['id']}"})


def read(req: Request):
    note_id = req.path_param("id")
    note = Table.open("notes").get({"id": note_id})
    if note is None:
        raise HttpError(404, f"no note {note_id}")
    return json_response(note)


def handle(req: Request):
    if req.route_key == "POST /notes-py":
        return create(req)
    if req.route_key == "GET /notes-py/{id}":
        return read(req)
    raise HttpError(404, "Not Found")


Handler = handler(handle)
