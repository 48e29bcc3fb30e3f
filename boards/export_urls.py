from django.urls import path

from boards import export_views

urlpatterns = [
    path("boards/<int:pk>/export/", export_views.board_export, name="board_export"),
    path("exports/<int:pk>/", export_views.export_status, name="export_status"),
    path("exports/<int:pk>/cancel/", export_views.export_cancel, name="export_cancel"),
]
