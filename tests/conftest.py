"""Fixtures shared by the tests that grade against the committed default assignment."""
import pytest

from grader.pipeline import load_context

from simulated import EXPECTED, INPUTS, SPEC


@pytest.fixture(scope="session")
def context():
    """The default assignment's grading context: spec, committed inputs and expected/."""
    return load_context(SPEC, INPUTS, EXPECTED)


@pytest.fixture(scope="session")
def assignment(context):
    return context.assignment


@pytest.fixture(scope="session")
def inputs(context):
    return context.inputs
