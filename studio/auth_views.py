"""The log-in and password reset pages, with the throttles of studio.throttle explained."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, PasswordResetView
from django.http import HttpResponse

from studio import throttle


class ThrottledLoginView(LoginView):
    """Django's log-in view that says so, with a 429, when log-ins are paused.

    The lock itself is enforced by studio.throttle.ThrottledModelBackend; this
    view checks first only so a locked person is told why instead of seeing
    "the password does not match" for the right password.
    """

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # The demo hint speaks to a developer on their own machine, not to a studio's users.
        return super().get_context_data(
            show_demo_hint=settings.DEBUG, signup_open=settings.STUDIO_SIGNUP, **kwargs
        )

    def _lock(self):
        return throttle.lockout(
            self.request.POST.get("username"), throttle.client_address(self.request)
        )

    def post(self, request, *args, **kwargs):
        lock = self._lock()
        if lock is not None:
            # Unbound, so rendering it does not try the password again.
            form = AuthenticationForm(request, initial={"username": request.POST.get("username")})
            return self._locked(form, lock)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        # The failure just counted may be the one that starts the lock.
        lock = self._lock()
        if lock is not None:
            return self._locked(form, lock)
        return super().form_invalid(form)

    def _locked(self, form, lock: throttle.Lockout) -> HttpResponse:
        context = self.get_context_data(form=form, lockout=lock.message())
        return self.render_to_response(context, status=429)


class ThrottledPasswordResetView(PasswordResetView):
    """Django's reset page, pausing reset mail per email address and per caller address.

    A paused request gets the form again with a 429 and the reason; any other
    request goes to the usual "check your mail" page, whether or not an
    account has that email, so neither answer tells who has an account.
    """

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        address = throttle.client_address(self.request)
        lock = throttle.reset_lockout(email, address)
        if lock is not None:
            context = self.get_context_data(form=form, lockout=lock.message())
            return self.render_to_response(context, status=429)
        throttle.record_reset(email, address)
        return super().form_valid(form)
