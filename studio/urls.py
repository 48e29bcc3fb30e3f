from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from studio import views
from studio.auth_views import ThrottledLoginView

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/new/", views.project_create, name="project_create"),
    path("project/<int:pk>/", views.project_detail, name="project_detail"),
    path("project/<int:pk>/settings/", views.project_settings, name="project_settings"),
    path("project/<int:pk>/members/", views.project_members_page, name="project_members"),
    path("memberships/<int:pk>/role/", views.membership_role, name="membership_role"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("media/<path:name>", views.media, name="media"),
    path("", include("characters.urls")),
    path("", include("boards.urls")),
    path("", include("boards.export_urls")),
    path("", include("workers.urls")),
    path("admin/", admin.site.urls),
]
