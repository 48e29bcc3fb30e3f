"""Character bible URLs. Every route takes `pk` or `project_id`, never both."""

from django.urls import path

from characters import views

urlpatterns = [
    # characters
    path(
        "project/<int:project_id>/characters/new/", views.character_create, name="character_create"
    ),
    path("characters/<int:pk>/", views.character_detail, name="character_detail"),
    path("characters/<int:pk>/edit/", views.character_edit, name="character_edit"),
    path("characters/<int:pk>/delete/", views.character_delete, name="character_delete"),
    # sheets (sheet_create takes the character's pk)
    path("characters/<int:pk>/sheets/new/", views.sheet_create, name="sheet_create"),
    path("sheets/<int:pk>/edit/", views.sheet_edit, name="sheet_edit"),
    path("sheets/<int:pk>/default/", views.sheet_set_default, name="sheet_set_default"),
    path("sheets/<int:pk>/delete/", views.sheet_delete, name="sheet_delete"),
    path("sheets/<int:pk>/upload/", views.sheet_upload, name="sheet_upload"),
    # reference images
    path("references/<int:pk>/edit/", views.reference_image_edit, name="reference_image_edit"),
    path(
        "references/<int:pk>/primary/",
        views.reference_image_set_primary,
        name="reference_image_set_primary",
    ),
    path(
        "references/<int:pk>/delete/", views.reference_image_delete, name="reference_image_delete"
    ),
    # locations
    path("project/<int:project_id>/locations/new/", views.location_create, name="location_create"),
    path("locations/<int:pk>/", views.location_detail, name="location_detail"),
    path("locations/<int:pk>/edit/", views.location_edit, name="location_edit"),
    path("locations/<int:pk>/delete/", views.location_delete, name="location_delete"),
    path("locations/<int:pk>/upload/", views.location_upload, name="location_upload"),
    path(
        "location-images/<int:pk>/delete/",
        views.location_image_delete,
        name="location_image_delete",
    ),
    # project style
    path("project/<int:project_id>/style/", views.style_detail, name="style_detail"),
    path("project/<int:project_id>/style/upload/", views.style_upload, name="style_upload"),
    path("style-images/<int:pk>/delete/", views.style_image_delete, name="style_image_delete"),
]
