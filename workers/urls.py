from django.urls import path

from workers import views

urlpatterns = [
    path("panels/<int:pk>/generate/", views.panel_generate, name="panel_generate"),
    path("boards/<int:pk>/generate/", views.board_generate, name="board_generate"),
    path("boards/<int:pk>/progress/", views.board_progress, name="board_progress"),
    path("jobs/<int:pk>/", views.job_status, name="job_status"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:pk>/dismiss/", views.job_dismiss, name="job_dismiss"),
    path("takes/<int:pk>/edit/", views.take_edit, name="take_edit"),
    path("hooks/<str:backend>/", views.provider_webhook, name="provider_webhook"),
    path("takes/<int:pk>/region/", views.take_region, name="take_region"),
    path("takes/<int:pk>/region/edit/", views.take_region_edit, name="take_region_edit"),
]
