"""Creates the template's table and queues in whatever AWS the clients point at (moto)."""

from __future__ import annotations

import json
from typing import Any

from infra.template import queues, table_definition, ttl_attribute


def provision(dynamodb: Any, sqs: Any, table_name: str, prefix: str) -> dict[str, tuple[str, str]]:
    """Table (with TTL) and queues (dead-letter queues first); returns {logical id: (url, arn)}."""
    dynamodb.create_table(**table_definition(table_name))
    if ttl := ttl_attribute():
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
        )
    created: dict[str, tuple[str, str]] = {}
    for spec in queues():
        attributes = {"VisibilityTimeout": str(spec.visibility_timeout)}
        if spec.dead_letter_logical_id:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": created[spec.dead_letter_logical_id][1],
                    "maxReceiveCount": spec.max_receive_count,
                }
            )
        url = sqs.create_queue(QueueName=f"{prefix}-{spec.logical_id}", Attributes=attributes)[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        created[spec.logical_id] = (url, arn)
    return created
