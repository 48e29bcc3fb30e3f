from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from studio import account_views, ops, views
from studio.auth_views import ThrottledLoginView, ThrottledPasswordResetView
from studio.forms import QueuedPasswordResetForm

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", account_views.signup, name="signup"),
    path("account/", account_views.account, name="account"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password-reset/",
        ThrottledPasswordResetView.as_view(
            form_class=QueuedPasswordResetForm,
            extra_email_context={"public_url": settings.STUDIO_PUBLIC_URL},
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("inbox/", account_views.inbox, name="inbox"),
    path("inbox/read-all/", account_views.notifications_read_all, name="notifications_read_all"),
    path("inbox/<int:pk>/open/", account_views.notification_open, name="notification_open"),
    path("inbox/<int:pk>/read/", account_views.notification_read, name="notification_read"),
    path("unsubscribe/<str:token>/", account_views.unsubscribe, name="unsubscribe"),
    path("invitations/", account_views.invitations, name="invitations"),
    path("invitations/<int:pk>/accept/", account_views.invitation_accept, name="invitation_accept"),
    path(
        "invitations/<int:pk>/decline/", account_views.invitation_decline, name="invitation_decline"
    ),
    path("invite/<str:token>/", account_views.invitation_open, name="invitation_open"),
    path("projects/new/", views.project_create, name="project_create"),
    path("project/<int:pk>/", views.project_detail, name="project_detail"),
    path("project/<int:pk>/settings/", views.project_settings, name="project_settings"),
    path("project/<int:pk>/members/", views.project_members_page, name="project_members"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="invitation_resend"),
    path("invitations/<int:pk>/withdraw/", views.invitation_withdraw, name="invitation_withdraw"),
    path("memberships/<int:pk>/role/", views.membership_role, name="membership_role"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("media/<path:name>", views.media, name="media"),
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics, name="metrics"),
    path("", include("characters.urls")),
    path("", include("boards.urls")),
    path("", include("boards.export_urls")),
    path("", include("boards.animatic_urls")),
    path("", include("boards.script_urls")),
    path("", include("workers.urls")),
    path("", include("reviews.urls")),
    path("admin/", admin.site.urls),
]
