from tests.ui.conftest import fake_version, machine, operator_session  # noqa: F401  (fixtures)
