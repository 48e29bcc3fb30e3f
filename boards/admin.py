from django.contrib import admin

from boards.models import Board, CastMember, Export, Panel, Take


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "aspect", "updated"]
    list_select_related = ["project"]
    list_filter = ["kind", "aspect"]


class CastInline(admin.TabularInline):
    model = CastMember
    extra = 0
    raw_id_fields = ["character", "sheet"]


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    list_display = ["id", "board", "position", "shot_type", "location"]
    list_select_related = ["board", "location"]
    raw_id_fields = ["selected_take", "location"]
    inlines = [CastInline]


@admin.register(Take)
class TakeAdmin(admin.ModelAdmin):
    list_display = ["id", "panel", "kind", "backend", "model", "cost", "created"]
    list_select_related = ["panel__board"]
    list_filter = ["kind", "backend"]
    raw_id_fields = ["panel", "parent", "created_by"]
    readonly_fields = ["sha256", "fingerprint", "request"]


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "board", "format", "state", "progress", "created", "expires"]
    list_select_related = ["board"]
    list_filter = ["state", "format"]
    raw_id_fields = ["board", "requested_by"]
    readonly_fields = ["options", "file", "error", "created", "finished"]
