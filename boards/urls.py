from django.urls import path

from boards import views

urlpatterns = [
    path("project/<int:project_id>/boards/new/", views.board_create, name="board_create"),
    path("boards/<int:pk>/", views.board_detail, name="board_detail"),
    path("boards/<int:pk>/edit/", views.board_edit, name="board_edit"),
    path("boards/<int:pk>/delete/", views.board_delete, name="board_delete"),
    path("boards/<int:pk>/panels/new/", views.panel_create, name="panel_create"),
    path("panels/<int:pk>/", views.panel_edit, name="panel_edit"),
    path("panels/<int:pk>/inline/", views.panel_inline, name="panel_inline"),
    path("panels/<int:pk>/delete/", views.panel_delete, name="panel_delete"),
    path("panels/<int:pk>/move/", views.panel_move, name="panel_move"),
    path("panels/<int:pk>/crop/", views.panel_crop, name="panel_crop"),
    path("panels/<int:pk>/takes/upload/", views.take_upload, name="take_upload"),
    path("takes/<int:pk>/select/", views.take_select, name="take_select"),
]
