"""Platform settings: the optional ``[platforms.*]`` tables of the assignment spec.

::

    [platforms.gradescope]
    visibility = "visible"            # every test: visible, hidden, after_due_date, after_published
    [platforms.gradescope.outputs]
    dropout_forward_out_train = { visibility = "after_due_date" }   # one output's own setting

    [platforms.prairielearn]
    uuid = "5c1f8d0e-..."             # the question's id in the course [default: made from the name]
    title = "..."                     # [default: the assignment's name]
    topic = "..."                     # [default: "CNN layers"]
    timeout = 60                      # seconds the grading job may take [default: 60]

The grader's spec reader accepts these tables and leaves them to this module; a bundle carries the
settings resolved beside the spec. A malformed table is a SpecError naming the key, as for the
rest of the spec.
"""
import uuid
from dataclasses import dataclass, field

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from grader.errors import SpecError

PLATFORMS_KEY = "platforms"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
DEFAULT_TOPIC = "CNN layers"
DEFAULT_TIMEOUT = 60
MAX_TIMEOUT = 600  # PrairieLearn's limit for a grading job
# A uuid made from the assignment's name: the same spec gives the same question id.
_UUID_NAMESPACE = uuid.UUID("6f1c2b1e-4b7a-5d0e-9c3a-2f6d8e0b1a47")

# A table header line: [name] or [[name]], the name possibly dotted and quoted.


@dataclass(frozen=True)
class GradescopeSettings:
    visibility: str = "visible"
    output_visibility: dict = field(default_factory=dict)  # output file (no .csv) -> visibility

    def visibility_of(self, output):
        return self.output_visibility.get(output, self.visibility)

    def to_dict(self):
        return {"visibility": self.visibility, "output_visibility": dict(self.output_visibility)}

    @classmethod
    def from_dict(cls, data):
        return cls(data["visibility"], dict(data["output_visibility"]))


@dataclass(frozen=True)
class PrairieLearnSettings:
    uuid: str
    title: str
    topic: str = DEFAULT_TOPIC
    timeout: int = DEFAULT_TIMEOUT


def parse_toml(text, source=""):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"not valid TOML: {e}", path=source or None) from None


def gradescope_settings(text, output_files):
    """The ``[platforms.gradescope]`` settings of the spec ``text``; ``output_files`` are the
    spec's output names (without .csv), which per-output settings must name."""
    table = _platform_table(parse_toml(text), "gradescope", {"visibility", "outputs"})
    visibility = _visibility(table, "platforms.gradescope.visibility", "visible")
    outputs = _table(table, "outputs", "platforms.gradescope.outputs")
    per_output = {}
    for name, entry in outputs.items():
        key = f"platforms.gradescope.outputs.{name}"
        if name not in output_files:
            raise SpecError(f"{key}: no output of the spec is named {name!r}; expected one of "
                            f"{', '.join(output_files)}")
        if not isinstance(entry, dict):
            raise SpecError(f"{key} must be a table, e.g. {{ visibility = \"hidden\" }}")
        _only(entry, key, {"visibility"})
        if "visibility" in entry:
            per_output[name] = _visibility(entry, f"{key}.visibility", None)
    return GradescopeSettings(visibility, per_output)


def prairielearn_settings(text, assignment_name):
    table = _platform_table(parse_toml(text), "prairielearn", {"uuid", "title", "topic", "timeout"})
    question_id = _string(table, "uuid", str(uuid.uuid5(_UUID_NAMESPACE, assignment_name)))
    try:
        question_id = str(uuid.UUID(question_id))
    except ValueError:
        raise SpecError(f"platforms.prairielearn.uuid: {question_id!r} is not a UUID") from None
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT:
        raise SpecError(f"platforms.prairielearn.timeout: must be whole seconds from 1 to "
                        f"{MAX_TIMEOUT}, got {timeout!r}")
    return PrairieLearnSettings(question_id, _string(table, "title", assignment_name),
                                _string(table, "topic", DEFAULT_TOPIC), timeout)


def _platform_table(data, platform, allowed):
    platforms = _table(data, PLATFORMS_KEY, PLATFORMS_KEY)
    _only(platforms, PLATFORMS_KEY, {"gradescope", "prairielearn"})
    key = f"{PLATFORMS_KEY}.{platform}"
    table = _table(platforms, platform, key)
    _only(table, key, allowed)
    return table


def _table(data, name, key):
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SpecError(f"{key} must be a table")
    return value


def _only(table, key, allowed):
    for name in table:
        if name not in allowed:
            raise SpecError(f"{key}.{name}: unknown key; expected one of {', '.join(sorted(allowed))}")


def _visibility(table, key, default):
    value = table.get(key.rsplit(".", 1)[-1], default)
    if value not in VISIBILITIES:
        raise SpecError(f"{key}: must be one of {', '.join(VISIBILITIES)}, got {value!r}")
    return value


def _string(table, name, default):
    value = table.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"platforms.prairielearn.{name}: must be a non-empty string, got {value!r}")
    return value
