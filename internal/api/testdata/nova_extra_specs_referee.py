"""Referee for gonova's 2.86 extra spec validation: nova 26's own
nova.api.validation.extra_specs.validators, run on names and values.

stdin: {"values": [...]} ; stdout: a JSON list of [name, value, message]
for every validator nova registers (each name made concrete with a sample
of its parameters) and every value, message "" when nova accepts it.
"""
import itertools
import json
import re
import sys

from nova.api.validation.extra_specs import validators
from nova import exception

SAMPLES = ["0", "1", "", "X", "abc", "a"]


def concrete(validator):
    name = validator.name
    for param in validator.parameters:
        for s in SAMPLES:
            if re.fullmatch(param["pattern"], s):
                name = name.replace("{%s}" % param["name"], s)
                break
        else:
            return None
    return name


def main():
    values = json.load(sys.stdin)["values"]
    out = []
    for v in sorted(validators.VALIDATORS.values(), key=lambda x: x.name):
        name = concrete(v)
        if name is None:
            continue
        for value in values:
            try:
                validators.validate(name, value)
                msg = ""
            except exception.ValidationError as e:
                msg = str(e)
            out.append([name, value, msg])
    json.dump(out, sys.stdout)


main()
