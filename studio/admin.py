from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from studio.models import Invitation, Membership, Notification, Project, User

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
