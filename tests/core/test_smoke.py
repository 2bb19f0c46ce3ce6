from zizhu.core.audit import verify_chain
from zizhu.core.models import User


def test_personas_are_created_through_services_and_audited(officer_a: User) -> None:
    assert officer_a.assignments.count() == 1
    assert verify_chain().ok
