"""/v1/files: upload a fine-tuning file (a private datanet's version), list, retrieve and delete. Thin."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from modelfactory.api.fine_tuning_parameters import cursor_of
from modelfactory.api.fine_tuning_selectors import api_file_of, api_files_page, file_object
from modelfactory.api.fine_tuning_services import api_file_create, api_file_delete
from modelfactory.api.models import ApiKey
from modelfactory.api.views import api_endpoint

FILES_PER_PAGE, MOST_FILES_PER_PAGE = 10_000, 10_000  # OpenAI's default and limit


@api_endpoint("GET", "POST")
async def files(request: HttpRequest, key: ApiKey) -> HttpResponse:
    if request.method == "POST":

        def create():  # the multipart body is parsed here, off the event loop
            upload = request.FILES.get("file")
            return file_object(
                api_file_create(user=key.user, file=upload, purpose=request.POST.get("purpose"))
            )

        return JsonResponse(await sync_to_async(create)())
    cursor = cursor_of(request.GET, default_limit=FILES_PER_PAGE, max_limit=MOST_FILES_PER_PAGE)
    purpose = request.GET.get("purpose")
    return JsonResponse(await sync_to_async(api_files_page)(key.user, cursor, purpose=purpose))


@api_endpoint("GET", "DELETE")
async def file(request: HttpRequest, key: ApiKey, file_id: str) -> HttpResponse:
    if request.method == "DELETE":
        return JsonResponse(await sync_to_async(api_file_delete)(user=key.user, file_id=file_id))
    return JsonResponse(await sync_to_async(lambda: file_object(api_file_of(key.user, file_id)))())
