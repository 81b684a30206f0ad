"""Unit tests of guest-py/portico_guest in plain CPython, against the `wit_world` bindings
componentize-py generates (`componentize-py -d wit -w function bindings DIR`; put DIR and
guest-py on PYTHONPATH). tests/e2e/languages.rs runs them; the components are tested end
to end there too. They live here, not in guest-py, because componentize-py bundles every
file under guest-py into each component."""

import unittest
from decimal import Decimal

from componentize_py_types import Err
from wit_world.imports import data, http_types

import portico_guest
from portico_guest import DataError, HttpError, Request
from portico_guest.document import dumps, from_document, loads, number, to_document


def children(node):
    if isinstance(node, data.Value_M):
        return [i for _, i in node.value]
    if isinstance(node, data.Value_L):
        return list(node.value)
    return []


class Numbers(unittest.TestCase):
    def test_whole_numbers_are_ints_and_others_exact_decimals(self):
        self.assertEqual(number("42"), 42)
        self.assertIsInstance(number("42"), int)
        self.assertEqual(number("1E+2"), 100)
        self.assertEqual(number("12345678901234567890123456789012345678"), 12345678901234567890123456789012345678)
        self.assertEqual(number("12345678901234567890.5"), Decimal("12345678901234567890.5"))
        self.assertIsInstance(number("0.1"), Decimal)
        with self.assertRaises(ValueError):
            number("abc")
        with self.assertRaises(ValueError):
            number("NaN")


class Documents(unittest.TestCase):
    def test_a_document_is_written_parent_first_and_read_back_the_same(self):
        value = {
            "s": "é𝄞",
            "n": 12345678901234567890,
            "d": Decimal("12345678901234567890.5"),
            "f": 2.5,
            "b": b"\x00\xff",
            "yes": True,
            "none": None,
            "ss": {"a", "b"},
            "ns": {1, Decimal("0.5")},
            "bs": {b"x"},
            "l": [1, [2, {"deep": "x"}], []],
            "m": {"inner": {}},
        }
        doc = to_document(value)
        self.assertIsInstance(doc.nodes[0], data.Value_M)
        for i, node in enumerate(doc.nodes):
            for c in children(node):
                self.assertGreater(c, i)
        self.assertIsInstance(doc.nodes[dict(doc.nodes[0].value)["yes"]], data.Value_Boolean)
        back = from_document(doc)
        self.assertEqual(back, {**value, "f": Decimal("2.5")})
        self.assertIsInstance(back["yes"], bool)

    def test_values_without_a_dynamodb_type_are_refused_naming_where(self):
        with self.assertRaisesRegex(TypeError, r"\$\.a\[1\]: object has no DynamoDB type"):
            to_document({"a": [1, object()]})
        with self.assertRaisesRegex(ValueError, "empty set"):
            to_document({"s": set()})
        with self.assertRaisesRegex(TypeError, "only strings, only numbers or only bytes"):
            to_document({"s": {"a", 1}})
        with self.assertRaisesRegex(ValueError, r"\$\.n: not a finite number"):
            to_document({"n": float("nan")})
        with self.assertRaisesRegex(TypeError, "dict key must be a str"):
            to_document({1: "x"})


class Json(unittest.TestCase):
    def test_json_round_trips_exact_numbers_compactly(self):
        text = '{"a":12345678901234567890.5,"b":[1,2.5,true,null,"x\\né"],"c":{},"d":-0.000000000000000000001}'
        value = loads(text)
        self.assertEqual(value["a"], Decimal("12345678901234567890.5"))
        self.assertEqual(dumps(value), text)
        self.assertEqual(dumps({"b": b"hi", "s": {2, 1}}), '{"b":"aGk=","s":[1,2]}')
        with self.assertRaises(ValueError):
            loads('{"a": NaN}')


def event(body=b"", **fields):
    ctx = http_types.RequestContext(
        "req-1", "POST /x/{id}", "$default", "", "",
        http_types.HttpDetails("POST", "/x/7", "HTTP/1.1", "127.0.0.1", "t"),
        "", 1_700_000_000_000, None,
    )
    return http_types.HttpRequestEvent(
        "2.0", "POST /x/{id}", "/x/7", "q=1", ["a=b"], [("content-type", "application/json")],
        [("q", "1")], [("id", "7")], [("greeting", "Hi")], body, ctx,
    )


class Requests(unittest.TestCase):
    def test_the_request_reads_the_event(self):
        req = Request(event(b'{"n": 0.1}'))
        self.assertEqual((req.method, req.path, req.route_key, req.request_id), ("POST", "/x/7", "POST /x/{id}", "req-1"))
        self.assertEqual(req.path_param("id"), "7")
        self.assertEqual(req.path_param("nope", "d"), "d")
        self.assertEqual(req.header("Content-Type"), "application/json")
        self.assertEqual(req.query("q"), "1")
        self.assertEqual(req.cookie("a"), "b")
        self.assertEqual(req.stage_variable("greeting"), "Hi")
        self.assertEqual(req.json(), {"n": Decimal("0.1")})

    def test_bad_bodies_are_400(self):
        for body, words in [(b"", "expected a JSON body"), (b"{", "not JSON"), (b"\xff", "not UTF-8")]:
            with self.assertRaises(HttpError) as caught:
                Request(event(body)).json()
            self.assertEqual(caught.exception.status, 400)
            self.assertIn(words, caught.exception.message)

    def test_the_handler_answers_http_errors_and_returns_other_failures_as_err(self):
        def handle(req):
            if req.path_param("id") == "7":
                raise HttpError(404, "no 7", id="7")
            return portico_guest.json_response({})

        response = portico_guest.handler(handle)().handle(event())
        self.assertEqual(response.status, 404)
        self.assertEqual(response.body, b'{"id":"7","message":"no 7"}')
        self.assertIn(("content-type", "application/json"), response.headers)

        def broken(req):
            raise KeyError("x")

        with self.assertRaises(Err) as caught:
            portico_guest.handler(broken)().handle(event())
        self.assertIn("KeyError", caught.exception.value)

    def test_data_errors_name_their_kind(self):
        e = DataError(data.Error_ConditionalCheckFailed(to_document({"id": "a"})))
        self.assertEqual(e.kind, "conditional-check-failed")
        self.assertEqual(e.item, {"id": "a"})
        e = DataError(data.Error_AccessDenied("no table t"))
        self.assertEqual((e.kind, str(e)), ("access-denied", "access-denied: no table t"))


if __name__ == "__main__":
    unittest.main()
