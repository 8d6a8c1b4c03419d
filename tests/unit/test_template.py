"""The template and the code agree on what they both name."""

from __future__ import annotations

from helpdesk.store.items import INDEX_EXTRA_FIELDS, SUMMARY_FIELDS
from infra.template import functions, queues, resources_of_type


def test_indexes_project_exactly_the_ticket_summary() -> None:
    (table,) = resources_of_type("AWS::DynamoDB::Table").values()
    for index in table["Properties"]["GlobalSecondaryIndexes"]:
        projection = index["Projection"]
        if index["IndexName"] == "GSI4":  # the customer index holds keys only
            assert projection == {"ProjectionType": "KEYS_ONLY"}
            continue
        assert projection["ProjectionType"] == "INCLUDE"
        assert projection["NonKeyAttributes"] == [*SUMMARY_FIELDS, *INDEX_EXTRA_FIELDS]


def test_queue_outlives_its_consumer_and_has_a_dead_letter_queue() -> None:
    dispatcher = functions()["DispatcherFunction"]
    (job_queue,) = [spec for spec in queues() if spec.logical_id == "JobQueue"]
    assert job_queue.visibility_timeout >= 6 * dispatcher.timeout
    assert job_queue.dead_letter_logical_id == "JobDeadLetterQueue"
    assert job_queue.max_receive_count is not None and job_queue.max_receive_count >= 5


def test_every_route_has_an_explicit_path_and_method() -> None:
    routes = [route for spec in functions().values() for route in spec.routes]
    assert len({route.route_key for route in routes}) == len(routes)
    assert all("{proxy+}" not in route.path for route in routes)
    public = {route.route_key for route in routes if not route.authorized}
    assert public == {
        "GET /openapi.json",
        "GET /banner",
        "GET /kb/{direction}/{slug}",
        "POST /webhooks/telegram",
        "GET /webhooks/whatsapp",
        "POST /webhooks/whatsapp",
        "POST /webhooks/calls/{provider}",
        "GET /webhooks/calls/{provider}",
        "POST /webhooks/tracker/{provider}",
    }
