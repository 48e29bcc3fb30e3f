from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from studio.models import Invitation, LoginFailure, Membership, Notification, Project, User
from studio.throttle import clear_account

admin.site.register(User, UserAdmin)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "backend", "spending_cap", "created"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "created"]
    list_filter = ["role"]
    list_select_related = ["project", "user"]
    search_fields = ["project__name", "user__username", "user__email"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["identifier", "project", "role", "state", "sent", "expires"]
    list_filter = ["state", "role"]
    list_select_related = ["project"]
    search_fields = ["identifier", "project__name"]
    exclude = ["token_hash"]
    readonly_fields = ["user", "email", "invited_by", "sent", "answered"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "kind", "text", "created", "read", "emailed"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "text"]


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Failed log-ins and reset requests within their throttle windows.

    Unlocking forgets an account's failed log-ins.
    """

    list_display = ["username", "kind", "address", "created"]
    list_filter = ["kind", "created"]
    search_fields = ["username", "address"]
    actions = ["unlock_accounts"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Unlock the accounts of the selected failures")
    def unlock_accounts(self, request, queryset) -> None:
        names = sorted(set(queryset.values_list("username", flat=True)))
        for name in names:
            clear_account(name)
        self.message_user(request, f"Unlocked: {', '.join(names)}.")
