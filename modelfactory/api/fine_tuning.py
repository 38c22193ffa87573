"""/v1/fine_tuning/jobs: create, list, retrieve, cancel, events and checkpoints, in OpenAI's shapes. Thin."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from modelfactory.api.fine_tuning_parameters import cursor_of, fine_tuning_ask
from modelfactory.api.fine_tuning_selectors import (
    api_job_of,
    api_jobs_page,
    job_checkpoints_page,
    job_events_page,
    job_object,
)
from modelfactory.api.fine_tuning_services import api_job_cancel, api_job_create
from modelfactory.api.models import ApiKey
from modelfactory.api.parameters import body_of
from modelfactory.api.views import api_endpoint


@api_endpoint("GET", "POST")
async def jobs(request: HttpRequest, key: ApiKey) -> HttpResponse:
    if request.method == "POST":
        ask = fine_tuning_ask(body_of(request.body))
        job = await sync_to_async(api_job_create)(user=key.user, ask=ask)
        return JsonResponse(await sync_to_async(job_object)(job))
    cursor = cursor_of(request.GET, default_limit=20, max_limit=100)
    return JsonResponse(await sync_to_async(api_jobs_page)(key.user, cursor))


@api_endpoint("GET")
async def job(request: HttpRequest, key: ApiKey, job_id: str) -> HttpResponse:
    return JsonResponse(await sync_to_async(lambda: job_object(api_job_of(key.user, job_id)))())


@api_endpoint("POST")
async def cancel(request: HttpRequest, key: ApiKey, job_id: str) -> HttpResponse:
    job = await sync_to_async(api_job_cancel)(user=key.user, job_id=job_id)
    return JsonResponse(await sync_to_async(job_object)(job))


@api_endpoint("GET")
async def events(request: HttpRequest, key: ApiKey, job_id: str) -> HttpResponse:
    cursor = cursor_of(request.GET, default_limit=20, max_limit=1000)
    return JsonResponse(await sync_to_async(lambda: job_events_page(api_job_of(key.user, job_id), cursor))())


@api_endpoint("GET")
async def checkpoints(request: HttpRequest, key: ApiKey, job_id: str) -> HttpResponse:
    cursor = cursor_of(request.GET, default_limit=10, max_limit=100)
    return JsonResponse(
        await sync_to_async(lambda: job_checkpoints_page(api_job_of(key.user, job_id), cursor))()
    )
