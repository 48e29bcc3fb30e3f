from django.urls import path

from boards import animatic_views

urlpatterns = [
    path("boards/<int:pk>/play/", animatic_views.board_play, name="board_play"),
    path("panels/<int:pk>/duration/", animatic_views.panel_duration, name="panel_duration"),
]
