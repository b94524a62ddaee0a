#!/usr/bin/env python3
"""Validate a JSON document against a JSON Schema (python3-jsonschema).

    validate_json.py SCHEMA FILE [--path KEY[.KEY...]]

--path validates a member of FILE instead of all of it ("predicate" for the
predicate of an in-toto statement).  Every *.json file next to SCHEMA is
registered under its "$id", so relative references such as the CycloneDX
schema's "spdx.schema.json" and "jsf-0.82.schema.json" resolve to the local
copies and nothing is fetched.  Formats are checked where jsonschema has a
checker for them.  Works with jsonschema 4.10 (Debian 12, RefResolver) and
with the `referencing` registry of jsonschema >= 4.18.

Exit status: 0 valid, 1 invalid (the errors are printed on stderr), 2 usage
or unreadable input.
"""
import argparse
import json
import os
import sys

try:
    import jsonschema
except ImportError:  # pragma: no cover - reported to the caller
    sys.stderr.write("validate_json.py: python3-jsonschema is not installed\n")
    sys.exit(2)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def local_schemas(schema_path):
    """{$id: schema} of every JSON file in the schema's directory."""
    out = {}
    folder = os.path.dirname(os.path.abspath(schema_path))
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        try:
            doc = load(os.path.join(folder, name))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("$id"), str):
            out.setdefault(doc["$id"], doc)
    return out


def validator(schema, store):
    cls = jsonschema.validators.validator_for(schema)
    fmt = getattr(cls, "FORMAT_CHECKER", None) or jsonschema.FormatChecker()
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import specification_with
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return cls(schema, resolver=resolver, format_checker=fmt)
    default = specification_with(schema.get("$schema", ""))
    registry = Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=default))
        for uri, doc in store.items())
    return cls(schema, registry=registry, format_checker=fmt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("schema")
    ap.add_argument("file")
    ap.add_argument("--path", default="")
    args = ap.parse_args()
    try:
        schema = load(args.schema)
        doc = load(args.file)
    except (OSError, ValueError) as e:
        sys.stderr.write("validate_json.py: %s\n" % e)
        return 2
    for key in [k for k in args.path.split(".") if k]:
        if not isinstance(doc, dict) or key not in doc:
            sys.stderr.write("validate_json.py: %s has no member %s\n" % (args.file, args.path))
            return 1
        doc = doc[key]
    v = validator(schema, local_schemas(args.schema))
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:20]:
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        sys.stderr.write("%s: %s: %s\n" % (args.file, where, e.message[:300]))
    if errors:
        sys.stderr.write("%s: %d schema error(s) against %s\n"
                         % (args.file, len(errors), os.path.basename(args.schema)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
