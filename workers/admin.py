from django.contrib import admin

from workers.models import GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "panel", "state", "backend", "model", "attempts", "cost", "created"]
    list_filter = ["state", "backend"]
    list_select_related = ["panel"]
    raw_id_fields = ["panel", "project", "source_take", "take", "requested_by"]
    readonly_fields = ["provider_task_id", "polling_url", "fingerprint", "request"]
