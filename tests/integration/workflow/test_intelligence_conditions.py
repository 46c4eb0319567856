"""``classifier_says(label)`` in workflow definitions: a trigger filter ("start when the
classifier says Contract with confidence >= 0.8") and a transition condition, evaluated
with the organisation's trained model on the subject document's extracted text."""

from __future__ import annotations

from typing import Any

from hub.worker import InProcessWorker
from tests.integration.content.support import uploaded
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    approval,
    move,
    publish,
    published,
    started,
    team,
)
from tests.integration.workflow.support_intelligence import seed
from tests.integration.workflow.test_intelligence import train
from tests.unit.workflow.corpus import corpus

SAYS_CONTRACT = "classifier_says('contract') >= 0.8"


def contract_review() -> dict[str, Any]:
    body = approval(
        triggers=[
            {
                "event": "content.document.text_extracted",
                "filter": f"event.status == 'ready' && {SAYS_CONTRACT}",
                "variables": {"amount": "1"},
            }
        ]
    )
    approve = body["transitions"][0]
    approve["condition"] = f"vars.amount < 1000 && {SAYS_CONTRACT}"
    return body


async def test_classifier_says_in_a_trigger_filter_and_a_transition_condition(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await team(client, database_url)
    await seed(database_url, org, owner.user_id, corpus(400, seed=31))
    assert (await train(client, owner, org, events))[-1]["state"] == "ready"
    await published(client, owner, org, definition=contract_review())

    # Fresh documents (not trained on): a contract the model is sure of, and a letter.
    fresh = corpus(12, seed=99)
    contract, letter = fresh[9], fresh[4]
    assert (contract.document_type, letter.document_type) == ("Contract", "Letter")
    contract_doc = await uploaded(
        client, owner, org, contract.text.encode(), file_name="c.txt", title="Agreement"
    )
    letter_doc = await uploaded(
        client, owner, org, letter.text.encode(), file_name="l.txt", title="Letter"
    )
    await events.drain()

    # The trigger: only the contract's extraction started an instance.
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    (instance,) = r.json()["items"]
    assert instance["subject"]["documentId"] == contract_doc["id"]

    # The condition: holds on the contract, not on the letter (a 422 naming it).
    on_letter = await started(
        client, owner, org, subject={"documentId": letter_doc["id"]}, variables={"amount": 1}
    )
    r = await move(client, people["ann"], on_letter, "approve")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "condition_not_met"
    assert "the condition is false" in r.json()["detail"]
    r = await move(client, people["ann"], instance, "approve")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"


async def test_classifier_says_without_a_model_is_false_and_bad_calls_are_refused(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=contract_review())
    doc = await uploaded(client, owner, org, b"agreement clause party", file_name="c.txt")
    await events.drain()
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []  # no model: the classifier says nothing
    instance = await started(
        client, owner, org, subject={"documentId": doc["id"]}, variables={"amount": 1}
    )
    r = await move(client, people["ann"], instance, "approve")
    assert (r.status_code, r.json()["code"]) == (422, "condition_not_met")

    # Only the hub's own functions may be called: another name is refused when saving.
    body = approval()
    body["transitions"][0]["condition"] = "classifier_thinks('contract') > 0.5"
    r = await publish(client, owner, org, key="other", definition=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "definition.transitions[0].condition"
    assert "classifier_thinks" in r.json()["errors"][0]["message"]
