from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from workers.models import GenerationJob
from workers.services import job_dismiss, job_retry


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "panel", "state", "backend", "model", "attempts", "cost", "created"]
    list_filter = ["state", "backend"]
    list_select_related = ["panel"]
    raw_id_fields = ["panel", "project", "source_take", "take", "requested_by"]
    readonly_fields = ["provider_task_id", "polling_url", "fingerprint", "request"]
    actions = ["resolve_dismiss", "resolve_retry"]

    @admin.action(description="Resolve jobs needing review: close without retrying")
    def resolve_dismiss(self, request, queryset) -> None:
        closed = sum(job_dismiss(job=job) for job in queryset)
        self.message_user(request, f"{closed} job(s) closed; others were not waiting for review.")

    @admin.action(description="Resolve jobs needing review: retry (may be billed again)")
    def resolve_retry(self, request, queryset) -> None:
        retried = 0
        for job in queryset.select_related("source_take"):
            try:
                job_retry(job=job, user=request.user)
            except ValidationError as exc:
                self.message_user(
                    request, f"Job {job.pk}: {' '.join(exc.messages)}", messages.WARNING
                )
            else:
                retried += 1
        self.message_user(request, f"{retried} job(s) sent again.")
