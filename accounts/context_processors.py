"""Template context: whether this session still owes its second factor (the page then shows no menu or socket)."""
from accounts.two_factor import session_standing


def second_factor(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return {"second_factor_pending": False}
    return {"second_factor_pending": session_standing(request.session, user).pending}
