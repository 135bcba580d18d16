from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.pagination import OffsetOrCursorPagination
from apps.layers.filters import LayerFilter
from apps.layers.imaging import ImageRejected, ImageTooLarge
from apps.layers.selectors import layer_get, layer_list
from apps.layers.serializers import (
    LabelInput,
    LabelOutput,
    LayerAcceptedOutput,
    LayerDetailOutput,
    LayerOutput,
    LayerUploadInput,
)
from apps.layers.services import JobEnded, LayerConflict, StorageFull, label_submit, layer_ingest
from apps.machines.permissions import IsMachine, IsMachineOrOperator, IsOperator, request_machine
from apps.records.services import layer_regions_describe
from ml.parts.labels import LabelImageError


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class UnsupportedImage(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "not_an_image"


class InsufficientStorage(APIException):
    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    default_code = "storage_full"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# Room for the multipart framing and the other fields around the image.
_FORM_OVERHEAD = 64 * 1024


class LayerListCreateApi(ListAPIView):
    """GET lists layers (operators: all, with filters; a printer: its own). POST uploads one."""

    serializer_class = LayerOutput
    filterset_class = LayerFilter
    permission_classes = [IsMachineOrOperator]
    pagination_class = OffsetOrCursorPagination
    # Cursor pages walk by arrival, oldest first by default: what a sync resumes from.
    cursor_orderings = {"received_at": ("received_at", "pk"), "-received_at": ("-received_at", "-pk")}

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsMachine()]
        return super().get_permissions()

    def get_queryset(self):
        return layer_list(machine=request_machine(self.request)).order_by("-received_at", "-pk")

    @extend_schema(
        request={"multipart/form-data": LayerUploadInput},
        responses={
            202: LayerAcceptedOutput,
            200: OpenApiResponse(LayerAcceptedOutput, "A retry with identical bytes."),
            400: OpenApiResponse(description="A bad field (a bad part-label image too); a message per field."),
            401: OpenApiResponse(description="Missing or bad machine token."),
            409: OpenApiResponse(
                description="This layer was uploaded before with other bytes, or its job was finished or aborted."
            ),
            413: OpenApiResponse(description="The image is too large."),
            415: OpenApiResponse(description="Not a PNG, JPEG, TIFF or BMP image."),
            503: OpenApiResponse(description="The database is unreachable; nothing was stored. Retry."),
            507: OpenApiResponse(description="The server's storage is full; nothing was stored. Retry later."),
        },
    )
    def post(self, request):
        content_length = int(request.META.get("CONTENT_LENGTH") or 0)
        # Room for the image and a part-label image of up to the same size.
        if content_length > 2 * settings.LAYERWATCH_MAX_IMAGE_BYTES + _FORM_OVERHEAD:
            raise PayloadTooLarge(
                f"The request is {content_length} bytes; the limit for an image is "
                f"{settings.LAYERWATCH_MAX_IMAGE_BYTES} bytes."
            )
        form = LayerUploadInput(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["image"]
        if upload.size > settings.LAYERWATCH_MAX_IMAGE_BYTES:
            raise PayloadTooLarge(
                f"The image is {upload.size} bytes; the limit is {settings.LAYERWATCH_MAX_IMAGE_BYTES}."
            )
        try:
            result = layer_ingest(
                machine=request_machine(request),
                job_id=form.validated_data["job"],
                index=form.validated_data["layer"],
                data=upload.read(),
                captured_at=form.validated_data.get("captured_at"),
                layout=form.validated_data.get("layout", ""),
                parts=form.validated_data["parts"].read() if "parts" in form.validated_data else None,
            )
        except LabelImageError as error:
            raise ValidationError({"parts": [str(error)]}) from error
        except ImageTooLarge as error:
            raise PayloadTooLarge(str(error)) from error
        except ImageRejected as error:
            raise UnsupportedImage(str(error)) from error
        except (LayerConflict, JobEnded) as error:
            raise Conflict(str(error)) from error
        except StorageFull as error:
            raise InsufficientStorage(str(error)) from error
        body = LayerAcceptedOutput(result.layer, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if result.created else status.HTTP_200_OK)


class LayerDetailApi(APIView):
    permission_classes = [IsMachineOrOperator]

    @extend_schema(responses=LayerDetailOutput)
    def get(self, request, layer_id: int):
        layer = layer_get(layer_id=layer_id, machine=request_machine(request))
        if layer is None:
            raise Http404  # also for another machine's layer: its existence is not disclosed
        layer.described_regions = layer_regions_describe(layer=layer)
        return Response(LayerDetailOutput(layer, context={"request": request}).data)


class LayerFileApi(APIView):
    """The stored image, or the current score's heatmap or reconstruction, as a file."""

    permission_classes = [IsMachineOrOperator]
    kind = "image"

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request, layer_id: int):
        layer = layer_get(layer_id=layer_id, machine=request_machine(request))
        if layer is None:
            raise Http404
        if self.kind == "image":
            field = layer.image
        elif layer.current_score is None:
            raise Http404("This layer has not been scored yet.")
        else:
            field = getattr(layer.current_score, self.kind)
        if not field:
            raise Http404
        response = FileResponse(field.open("rb"))
        response["Cache-Control"] = "private, max-age=3600"
        return response


class LayerLabelApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=LabelInput, responses={201: LabelOutput})
    def post(self, request, layer_id: int):
        layer = layer_get(layer_id=layer_id)
        if layer is None:
            raise Http404
        form = LabelInput(data=request.data)
        form.is_valid(raise_exception=True)
        label = label_submit(
            layer=layer, value=form.validated_data["label"], kind=form.validated_data.get("kind", ""), user=request.user
        )
        return Response(LabelOutput(label).data, status=status.HTTP_201_CREATED)
