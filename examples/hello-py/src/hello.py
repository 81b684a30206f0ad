"""`GET /hello-py` and `GET /hello-py/{name}`: the Rust hello's greeting, in Python."""

from portico_guest import Request, handler, json_response, log


def handle(req: Request):
    name = req.path_param("name", "world")
    greeting = req.stage_variable("greeting", "Hello")
    log.info(f"greeting {name}")
    return json_response({"message": f"{greeting}, {name}!", "request_id": req.request_id})


Handler = handler(handle)
