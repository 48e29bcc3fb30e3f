from django.urls import path

from reviews import guest, views

urlpatterns = [
    path("boards/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("boards/<int:pk>/notes/", views.board_notes, name="board_notes"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
    path("comments/<int:pk>/resolve/", views.comment_resolve, name="comment_resolve"),
    path("project/<int:project_id>/mentions/", views.mention_search, name="mention_search"),
    path("panels/<int:pk>/status/", views.panel_status, name="panel_status"),
    path(
        "boards/<int:pk>/send-for-review/",
        views.board_send_for_review,
        name="board_send_for_review",
    ),
    path("boards/<int:pk>/review/live/", views.board_review_live, name="board_review_live"),
    path("boards/<int:pk>/links/", views.board_links, name="board_links"),
    path("links/<int:pk>/revoke/", views.link_revoke, name="link_revoke"),
    path("boards/<int:pk>/activity/", views.board_activity, name="board_activity"),
    path("r/<str:token>/", guest.guest_board, name="guest_board"),
    path("r/<str:token>/live/", guest.guest_live, name="guest_live"),
    path("r/<str:token>/play/", guest.guest_play, name="guest_play"),
    path("r/<str:token>/comments/", guest.guest_comment, name="guest_comment"),
    path("r/<str:token>/panels/<int:pk>/status/", guest.guest_status, name="guest_status"),
    path("r/<str:token>/takes/<int:pk>/", guest.guest_take, name="guest_take"),
]
