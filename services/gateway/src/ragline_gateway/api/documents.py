"""Document upload, listing and status routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from ragline_common.contracts.metadata import INVALID_METADATA, rule_code
from ragline_common.contracts.metadata import MAX_RAW_CHARS as MAX_RAW_METADATA_CHARS
from ragline_common.contracts.search import MAX_CHUNK_PAGE, ChunkPageRequest
from ragline_common.errors import NotFound, UnsupportedMediaType, ValidationFailed
from ragline_gateway.api.schemas import (
    MAX_TITLE_CHARS,
    ChunkList,
    DocumentList,
    DocumentOut,
    JobOut,
    TextDocumentCreate,
    UploadAccepted,
    UploadFormFields,
)
from ragline_gateway.deps import (
    ContentReaderTenant,
    ContextDep,
    IngestTenant,
    JobReaderTenant,
    PathId,
)
from ragline_gateway.domain.content_types import (
    EXTENSION_TYPES,
    content_mismatch,
    content_type_for,
    safe_source_name,
)
from ragline_gateway.domain.document_fields import MAX_EXTERNAL_ID_CHARS
from ragline_gateway.domain.limits import enforce_upload_quota
from ragline_gateway.domain.reindex_reads import pin
from ragline_gateway.domain.uploads import content_hash, request_chunk_deletion, submit_upload
from ragline_gateway.ports.catalog import DocumentDraft

router = APIRouter(prefix="/v1", tags=["documents"])


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TextDocumentCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
                        "metadata": {
                            "type": "string",
                            "maxLength": MAX_RAW_METADATA_CHARS,
                            "description": "JSON object, under the same rules as in a JSON body",
                        },
                        "external_id": {"type": "string", "maxLength": MAX_EXTERNAL_ID_CHARS},
                    },
                }
            },
        },
    }
}


def _validation(exc: ValidationError) -> ValidationFailed:
    detail = "; ".join(
        f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    return ValidationFailed(detail[:2000], code=rule_code(exc, default=ValidationFailed.code))


async def _from_json(request: Request) -> tuple[DocumentDraft, bytes]:
    try:
        payload = TextDocumentCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _validation(exc) from None
    content = payload.text.encode("utf-8")
    extension = ".md" if payload.content_type == "text/markdown" else ".txt"
    draft = DocumentDraft(
        title=payload.title,
        source_name=f"{safe_source_name(payload.title)}{extension}",
        content_type=payload.content_type,
        content_hash=content_hash(content),
        size_bytes=len(content),
        metadata=payload.metadata,
        external_id=payload.external_id,
    )
    return draft, content


def _form_text(form: FormData, field: str) -> str | None:
    """A text field's value; empty counts as absent (an HTML form sends every field)."""
    value = form.get(field)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(f"{field}: must be a text field")
    return value or None


async def _from_multipart(request: Request) -> tuple[DocumentDraft, bytes]:
    allowed = {"file", *UploadFormFields.model_fields}
    async with request.form(max_files=1, max_fields=len(allowed)) as form:
        unknown = set(form.keys()) - allowed
        if unknown:
            raise ValidationFailed(f"unknown form fields: {', '.join(sorted(unknown))}")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("file: a file part named 'file' is required")
        texts = {field: _form_text(form, field) for field in UploadFormFields.model_fields}
        raw_metadata = texts.get("metadata")
        if raw_metadata is not None and len(raw_metadata) > MAX_RAW_METADATA_CHARS:
            raise ValidationFailed(
                f"metadata: at most {MAX_RAW_METADATA_CHARS} characters",
                code=INVALID_METADATA,
            )
        try:
            fields = UploadFormFields.model_validate(
                {name: value for name, value in texts.items() if value is not None}
            )
        except ValidationError as exc:
            raise _validation(exc) from None
        source_name = safe_source_name(upload.filename)
        content_type = content_type_for(source_name)
        if content_type is None:
            raise UnsupportedMediaType(
                f"'{source_name}' is not a supported type; supported extensions: "
                f"{', '.join(sorted(EXTENSION_TYPES))}.",
                code="unsupported_document_type",
            )
        content = await upload.read()
        mismatch = content_mismatch(content_type, content)
        if mismatch is not None:
            raise UnsupportedMediaType(
                f"'{source_name}': {mismatch}.", code="content_type_mismatch"
            )
    if not content.strip():
        raise ValidationFailed("file: the file is empty", code="empty_document")
    draft = DocumentDraft(
        title=fields.title or source_name,
        source_name=source_name,
        content_type=content_type,
        content_hash=content_hash(content),
        size_bytes=len(content),
        metadata=fields.metadata,
        external_id=fields.external_id,
    )
    return draft, content


@router.post(
    "/documents",
    status_code=202,
    response_model=UploadAccepted,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a document (JSON text or a multipart file)",
    responses={
        200: {"model": UploadAccepted, "description": "Identical content already submitted"}
    },
)
async def create_document(
    request: Request, response: Response, context: ContextDep, tenant_id: IngestTenant
) -> UploadAccepted:
    # Refused before the body is read: a full backlog must not cost a 10 MB upload's parsing.
    await context.backpressure.check(tenant_id)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        draft, content = await _from_json(request)
    elif media_type == "multipart/form-data":
        draft, content = await _from_multipart(request)
    else:
        raise UnsupportedMediaType(
            "Send application/json or multipart/form-data.", code="unsupported_media_type"
        )
    await enforce_upload_quota(
        tenant_id,
        draft,
        overrides=context.keys,
        documents=context.catalog,
        settings=context.settings,
    )
    submission = await submit_upload(context.catalog, context.dispatcher, tenant_id, draft, content)
    if not submission.created:
        response.status_code = 200
    return UploadAccepted(
        document_id=submission.document.id,
        job_id=submission.job.id,
        version=submission.job.version,
        status=submission.job.status,
        duplicate=not submission.created,
    )


@router.get("/documents", response_model=DocumentList, summary="List the tenant's documents")
async def list_documents(
    context: ContextDep,
    tenant_id: ContentReaderTenant,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DocumentList:
    documents = await context.catalog.list_documents(tenant_id, limit=limit + 1, offset=offset)
    has_more = len(documents) > limit
    return DocumentList(
        documents=[DocumentOut.of(doc) for doc in documents[:limit]],
        next_offset=offset + limit if has_more else None,
    )


@router.get("/documents/{document_id}", response_model=DocumentOut, summary="One document")
async def get_document(
    document_id: PathId, context: ContextDep, tenant_id: ContentReaderTenant
) -> DocumentOut:
    document = await context.catalog.get_document(tenant_id, document_id)
    if document is None:
        raise NotFound("No such document.", code="document_not_found")
    return DocumentOut.of(document)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="An ingestion job's status")
async def get_job(job_id: PathId, context: ContextDep, tenant_id: JobReaderTenant) -> JobOut:
    job = await context.catalog.get_job(tenant_id, job_id)
    if job is None:
        raise NotFound("No such job.", code="job_not_found")
    return JobOut.of(job)


@router.delete(
    "/documents/{document_id}",
    status_code=204,
    summary="Delete a document and every chunk of it",
    responses={404: {"description": "No such document"}},
)
async def delete_document(
    document_id: PathId, context: ContextDep, tenant_id: IngestTenant
) -> Response:
    if not await context.catalog.delete_document(tenant_id, document_id):
        raise NotFound("No such document.", code="document_not_found")
    # Readers stop seeing it now (the catalog filters hits); the chunks go asynchronously.
    await request_chunk_deletion(
        context.catalog,
        context.broker,
        tenant_id,
        document_id,
        index_models=await context.indexes.kept(),
    )
    return Response(status_code=204)


@router.get(
    "/documents/{document_id}/chunks",
    response_model=ChunkList,
    summary="The chunks of a document's current version, in order",
)
async def list_chunks(
    document_id: PathId,
    context: ContextDep,
    tenant_id: ContentReaderTenant,
    limit: Annotated[int, Query(ge=1, le=MAX_CHUNK_PAGE - 1)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ChunkList:
    document = await context.catalog.get_document(tenant_id, document_id)
    if document is None:
        raise NotFound("No such document.", code="document_not_found")
    version = document.indexed_version
    if version is None:
        return ChunkList(document_id=document_id, version=None, chunks=[], next_offset=None)
    search = await pin(context.search, context.indexes)  # the index searches read now
    page = await search.list_chunks(
        tenant_id,
        ChunkPageRequest(document_id=document_id, version=version, limit=limit + 1, offset=offset),
    )
    has_more = len(page.chunks) > limit
    return ChunkList(
        document_id=document_id,
        version=version,
        chunks=page.chunks[:limit],
        next_offset=offset + limit if has_more else None,
    )
