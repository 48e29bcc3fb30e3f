from django.contrib import admin

from boards.models import Board, CastMember, Panel, Take


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
