"""Signals that feed the audit trail: sign-ins, lockouts, users, roles and API tokens."""
from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from portal.audit.services import Kind, actor_of_request, audit_record
from portal.models import ApiToken

# Fields of a user whose change is a change of access (the password's hash is never recorded).
TRACKED_USER_FIELDS = ["username", "is_active", "is_staff", "is_superuser", "password"]


def signed_in(sender, request, user, **kwargs):
    audit_record(kind=Kind.SIGN_IN, user=user, target=user.get_username(), request=request,
                 summary=f"{user.get_username()} signed in")


def signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(kind=Kind.SIGN_OUT, user=user, target=user.get_username(), request=request,
                     summary=f"{user.get_username()} signed out")


def sign_in_failed(sender, credentials, request=None, **kwargs):
    tried = str((credentials or {}).get(get_user_model().USERNAME_FIELD) or "")
    what = f"as {tried!r}" if tried else "with an API token"
    audit_record(kind=Kind.SIGN_IN_FAILED, username=tried, target=tried, request=request,
                 summary=f"Failed sign-in {what}")


def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    audit_record(kind=Kind.LOCKOUT, username=username or "", target=username or ip_address or "", request=request,
                 summary=f"Sign-in locked out: {username or 'address'} {ip_address or ''}".strip(),
                 detail={"ip_address": ip_address})


def user_before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance._state.adding or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    instance._audit_before = sender.objects.filter(pk=instance.pk).values(*TRACKED_USER_FIELDS).first()


def user_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    name = instance.get_username()
    if created:
        audit_record(kind=Kind.USER_CREATED, user=actor_of_request(), target=name, summary=f"User {name} created",
                     detail=_flags(instance))
        return
    before = getattr(instance, "_audit_before", None)
    instance._audit_before = None
    if not before:
        return
    changed = {f: [before[f], getattr(instance, f)] for f in TRACKED_USER_FIELDS if before[f] != getattr(instance, f)}
    if not changed:
        return
    if "password" in changed:
        changed["password"] = "changed"
    audit_record(kind=Kind.USER_CHANGED, user=actor_of_request(), target=name,
                 summary=f"User {name}: {', '.join(sorted(changed))} changed", detail={"changes": changed})


def user_deleted(sender, instance, **kwargs):
    name = instance.get_username()
    audit_record(kind=Kind.USER_DELETED, user=actor_of_request(), target=name, summary=f"User {name} deleted")


def user_relations_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Groups (roles) or own permissions added to or removed from a user, from either side."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    what = "groups" if model is Group or isinstance(instance, Group) else "permissions"
    verb = {"post_add": "added", "post_remove": "removed", "pre_clear": "removed"}[action]
    User = get_user_model()
    if reverse:  # group.user_set.add(user...): one entry per user
        users = User.objects.filter(pk__in=pk_set or [])
        names = [str(instance)]
    else:
        users = [instance]
        if action == "pre_clear":
            names = [str(o) for o in getattr(instance, what if what == "groups" else "user_permissions").all()]
        else:
            names = [str(o) for o in model.objects.filter(pk__in=pk_set or [])]
    if not names:
        return
    for user in users:
        name = user.get_username()
        audit_record(kind=Kind.USER_CHANGED, user=actor_of_request(), target=name,
                     summary=f"User {name}: {what} {verb}: {', '.join(sorted(names))}",
                     detail={what: {verb: sorted(names)}})


def token_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        name = instance.user.get_username()
        audit_record(kind=Kind.TOKEN_CREATED, user=actor_of_request(), target=name, summary=f"API token created for {name}")


def token_deleted(sender, instance, **kwargs):
    name = instance.user.get_username() if instance.user_id else ""
    audit_record(kind=Kind.TOKEN_REVOKED, user=actor_of_request(), target=name, summary=f"API token of {name} revoked")


def _flags(user) -> dict:
    return {f: getattr(user, f) for f in ("is_active", "is_staff", "is_superuser")}


def connect() -> None:
    User = get_user_model()
    user_logged_in.connect(signed_in, dispatch_uid="audit.signed_in")
    user_logged_out.connect(signed_out, dispatch_uid="audit.signed_out")
    user_login_failed.connect(sign_in_failed, dispatch_uid="audit.sign_in_failed")
    user_locked_out.connect(locked_out, dispatch_uid="audit.locked_out")
    pre_save.connect(user_before_save, sender=User, dispatch_uid="audit.user_before_save")
    post_save.connect(user_saved, sender=User, dispatch_uid="audit.user_saved")
    post_delete.connect(user_deleted, sender=User, dispatch_uid="audit.user_deleted")
    m2m_changed.connect(user_relations_changed, sender=User.groups.through, dispatch_uid="audit.user_groups")
    m2m_changed.connect(user_relations_changed, sender=User.user_permissions.through, dispatch_uid="audit.user_perms")
    post_save.connect(token_saved, sender=ApiToken, dispatch_uid="audit.token_saved")
    post_delete.connect(token_deleted, sender=ApiToken, dispatch_uid="audit.token_deleted")
