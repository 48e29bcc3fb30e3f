from django.urls import path

from boards import script_views

urlpatterns = [
    path(
        "project/<int:project_id>/script/import/",
        script_views.script_import,
        name="script_import",
    ),
    path(
        "project/<int:project_id>/script/preview/",
        script_views.script_preview,
        name="script_preview",
    ),
    path(
        "script-imports/<int:pk>/",
        script_views.script_import_status,
        name="script_import_status",
    ),
    path(
        "panels/<int:pk>/script-seen/",
        script_views.panel_script_seen,
        name="panel_script_seen",
    ),
]
