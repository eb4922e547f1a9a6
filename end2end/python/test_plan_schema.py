"""`GET /api/plans/schema`: every plan's parameters as JSON Schema 2020-12, checked with the
standard validator (PyPI `jsonschema`), and the server agreeing with it: an example the schema
accepts is accepted by `queue/item/validate`, one it refuses is refused by the server too."""
import time

import httpx
import jsonschema
import pytest

from conftest import KEY

H = {"Authorization": f"ApiKey {KEY}"}


def example(schema: dict, root: dict):
    """A value the schema accepts, built from it (first enum entry, 1 for numbers, …);
    `$ref`s are resolved in `root`, the plan's schema."""
    if "$ref" in schema:
        return example(root["$defs"][schema["$ref"].removeprefix("#/$defs/")], root)
    if "enum" in schema:  # a whole device rather than a component (`motor`, not `det.Imax`)
        return next((v for v in schema["enum"] if "." not in str(v)), schema["enum"][0])
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            if option.get("type") != "null" and option.get("enum", [None]):
                return example(option, root)
        return None
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        if "anyOf" in items:  # bluesky's repeating args: one (motor, number, number) row
            motor = example(items["anyOf"][0], root)
            rest = example(items["anyOf"][1], root)
            return [motor, rest, rest]
        return [example(items, root)] * max(1, schema.get("minItems", 1))
    return {"integer": 1, "number": 1.0, "string": "text", "boolean": False, "object": {},
            "null": None}.get(kind, 1)


def item(plan: dict, kwargs: dict) -> dict:
    """A queue item of `plan` (its `plans/allowed` description) with these values by name:
    parameters before a filled `*args` go by position, as Python needs."""
    params = plan["parameters"]
    var = next((p["name"] for p in params if p["kind"]["name"] == "VAR_POSITIONAL"), None)
    args, kw = [], {}
    for p in params:
        name = p["name"]
        if name not in kwargs:
            continue
        if name == var:
            args.extend(kwargs[name])
        elif var in kwargs and p["kind"]["name"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD"):
            args.append(kwargs[name])
        else:
            kw[name] = kwargs[name]
    known = {p["name"] for p in params}
    kw.update({k: v for k, v in kwargs.items() if k not in known})
    return {"name": plan["name"], "args": args, "kwargs": kw, "item_type": "plan"}


def test_every_plan_schema_is_valid_2020_12_and_the_server_agrees_with_it(any_hutch):
    with httpx.Client(base_url=any_hutch, headers=H, timeout=30) as c:
        assert c.post("/api/environment/open").json()["success"]
        deadline = time.monotonic() + 60
        while not (s := c.get("/api/status").json())["worker_environment_exists"] or s["manager_state"] != "idle":
            assert time.monotonic() < deadline, s
            time.sleep(0.1)
        schemas = c.get("/api/plans/schema").json()
        assert schemas["success"], schemas
        allowed = c.get("/api/plans/allowed").json()["plans_allowed"]
        assert set(schemas["plans"]) == set(allowed) and "count" in allowed
        checked = refused = 0
        for name, schema in sorted(schemas["plans"].items()):
            jsonschema.Draft202012Validator.check_schema(schema)
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            assert c.get(f"/api/plans/schema/{name}").json() == schema
            validator = jsonschema.Draft202012Validator(schema)
            plan = dict(allowed[name], name=name)
            good = {p: example(schema["properties"][p], schema) for p in schema["required"]}
            if "args" in schema["properties"] and name.endswith("scan"):
                good["args"] = example(schema["properties"]["args"], schema)
                if "num" in schema["properties"]:
                    good["num"] = 3
            if list(validator.iter_errors(good)):
                continue  # a plan whose minimal example this builder cannot make
            server = c.post("/api/queue/item/validate", json={"items": [item(plan, good)]}).json()
            if not server["success"]:
                # A check the schema cannot say (the number of values per motor row); never
                # for the plans every profile has.
                assert name not in ("count", "scan"), f"{name}: {good} refused: {server}"
                continue
            checked += 1
            # An unknown parameter, and a wrong value in each required parameter: what the
            # schema refuses, the server refuses too.
            bad = [dict(good, no_such_parameter=1)]
            bad += [dict(good, **{p: v}) for p in schema["required"] for v in ({"not": "valid"}, "no_such_device")]
            for wrong in bad:
                if not list(validator.iter_errors(wrong)):
                    continue
                r = c.post("/api/queue/item/validate", json={"items": [item(plan, wrong)]}).json()
                assert not r["success"], f"{name}: the schema refuses {wrong} but the server accepts it"
                refused += 1
        assert checked >= 3, f"only {checked} plans had an example both accepted"
        assert refused >= 3, f"only {refused} wrong examples were tried"
        count = schemas["plans"]["count"]
        # Device parameters list the devices by name (readable ones for detectors, as the
        # server checks them: motors are readable too), components included.
        readable = count["$defs"]["readable"]["enum"]
        assert count["properties"]["detectors"]["items"] == {"$ref": "#/$defs/readable"}
        assert {"det1", "det1.val"} <= set(readable), readable
        assert c.get("/api/plans/schema/no_such_plan").status_code == 404


@pytest.mark.parametrize("kwargs", [{"num": "five"}, {"num": 0}])
def test_a_wrong_count_is_refused_by_schema_and_server_alike(hutch, kwargs):
    with httpx.Client(base_url=hutch, headers=H, timeout=30) as c:
        schema = c.get("/api/plans/schema/count").json()
        value = {"detectors": ["det1"], **kwargs}
        assert list(jsonschema.Draft202012Validator(schema).iter_errors(value))
        body = {"items": [{"name": "count", "args": [], "kwargs": value, "item_type": "plan"}]}
        assert not c.post("/api/queue/item/validate", json=body).json()["success"]
