from django.contrib import admin

from characters.models import (
    Character,
    Location,
    LocationImage,
    ReferenceImage,
    ReferenceSheet,
    StyleImage,
)


class ReferenceSheetInline(admin.TabularInline):
    model = ReferenceSheet
    extra = 0


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "updated"]
    list_select_related = ["project"]
    search_fields = ["name", "project__name"]
    inlines = [ReferenceSheetInline]


@admin.register(ReferenceSheet)
class ReferenceSheetAdmin(admin.ModelAdmin):
    list_display = ["name", "character", "is_default"]
    list_select_related = ["character"]


@admin.register(ReferenceImage)
class ReferenceImageAdmin(admin.ModelAdmin):
    list_display = ["id", "sheet", "view", "is_primary", "width", "height", "created"]
    list_select_related = ["sheet__character"]
    list_filter = ["view"]
    readonly_fields = ["sha256", "width", "height"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "updated"]
    list_select_related = ["project"]


@admin.register(LocationImage)
class LocationImageAdmin(admin.ModelAdmin):
    list_display = ["id", "location", "label", "created"]
    list_select_related = ["location"]
    readonly_fields = ["sha256", "width", "height"]


@admin.register(StyleImage)
class StyleImageAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "label", "created"]
    list_select_related = ["project"]
    readonly_fields = ["sha256", "width", "height"]
