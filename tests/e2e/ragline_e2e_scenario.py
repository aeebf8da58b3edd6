"""The tenant-isolation scenario every deployment mode must pass, split in two halves so a
restart can happen in between."""

from __future__ import annotations

from dataclasses import dataclass

from ragline_e2e_harness import SHARED_DATA, Client, TenantKeys

ALPHA_TEXT = (
    "The Zorblax reactor at Kestrel Station converts seawater into hydrogen fuel. "
    "It was commissioned in 2031 and produces four megawatts. "
    "Engineers inspect the Zorblax cooling loop every Tuesday."
)
BETA_TEXT = (
    "Beta Corp sells hand-made oak furniture. Our tables are finished with linseed oil "
    "and ship within ten days of an order."
)


@dataclass
class ScenarioState:
    alpha: TenantKeys
    beta: TenantKeys
    alpha_docs: set[str]
    alpha_jobs: set[str]
    beta_docs: set[str]
    alpha_text_doc: str


def upload_and_index(client: Client, admin_token: str) -> ScenarioState:
    alpha = client.create_tenant(admin_token, "alpha")
    beta = client.create_tenant(admin_token, "beta")
    text_upload = client.upload_text(
        alpha.key, "Reactor notes", ALPHA_TEXT, metadata={"team": "energy"}
    )
    markdown_upload = client.upload_file(alpha.key, SHARED_DATA / "docs" / "md" / "duck.md")
    beta_upload = client.upload_text(beta.key, "Furniture", BETA_TEXT)
    for tenant, upload in ((alpha, text_upload), (alpha, markdown_upload), (beta, beta_upload)):
        job = client.wait_indexed(tenant.key, upload["job_id"])
        assert job["chunk_count"] >= 1
    return ScenarioState(
        alpha=alpha,
        beta=beta,
        alpha_docs={text_upload["document_id"], markdown_upload["document_id"]},
        alpha_jobs={text_upload["job_id"], markdown_upload["job_id"]},
        beta_docs={beta_upload["document_id"]},
        alpha_text_doc=text_upload["document_id"],
    )


def check_isolation_and_answers(client: Client, state: ScenarioState) -> None:
    # The owner finds its own document first.
    hits = client.search(state.alpha.key, "What does the Zorblax reactor produce?")
    assert hits, "alpha's search found nothing"
    assert hits[0]["document_id"] == state.alpha_text_doc
    assert {hit["document_id"] for hit in hits} <= state.alpha_docs
    assert hits[0]["metadata"] == {"team": "energy"}
    duck_hits = client.search(state.alpha.key, "swimming in the lake with a duckling")
    assert duck_hits and duck_hits[0]["document_id"] in state.alpha_docs - {state.alpha_text_doc}

    # The other tenant never sees it: not in search, query, documents or jobs.
    beta_hits = client.search(state.beta.key, "What does the Zorblax reactor produce?")
    assert not {hit["document_id"] for hit in beta_hits} & state.alpha_docs
    assert {hit["document_id"] for hit in beta_hits} <= state.beta_docs
    for document_id in state.alpha_docs:
        response = client.call("GET", f"/v1/documents/{document_id}", state.beta.key)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "document_not_found"
    for job_id in state.alpha_jobs:
        response = client.call("GET", f"/v1/jobs/{job_id}", state.beta.key)
        assert response.status_code == 404, response.text
    listing = client.call("GET", "/v1/documents", state.beta.key).json()["documents"]
    assert {doc["id"] for doc in listing} == state.beta_docs
    beta_answer = client.call(
        "POST", "/v1/query", state.beta.key, json={"query": "Zorblax reactor megawatts"}
    )
    assert beta_answer.status_code == 200, beta_answer.text
    assert not {c["document_id"] for c in beta_answer.json()["citations"]} & state.alpha_docs
    assert "Zorblax" not in beta_answer.json()["answer"]

    # The owner's answer cites the uploaded chunks.
    response = client.call(
        "POST",
        "/v1/query",
        state.alpha.key,
        json={"query": "How much power does the Zorblax reactor produce?"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "four megawatts" in answer["answer"]
    assert answer["citations"]
    chunk_ids = {hit["chunk_id"] for hit in hits}
    for citation in answer["citations"]:
        assert citation["document_id"] in state.alpha_docs
        assert citation["chunk_id"] in chunk_ids or citation["document_id"] != state.alpha_text_doc
        assert f"[{citation['index']}]" in answer["answer"]
    assert any(c["document_id"] == state.alpha_text_doc for c in answer["citations"])

    # Scopes: a query-only key may not upload.
    forbidden = client.call(
        "POST", "/v1/documents", state.alpha.query_only_key, json={"text": "x", "title": "t"}
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "missing_scope"
