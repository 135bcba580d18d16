"""The alerts inbox (operators acknowledge and resolve) and a machine's alert settings (admins)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.alerts.models import Alert, AlertRule, Delivery
from apps.alerts.notifications import machine_test_alert_send
from apps.alerts.rules import RuleParams
from apps.alerts.selectors import channels_for
from apps.alerts.services import AlertStateError, alert_acknowledge, alert_resolve
from apps.machines.models import Machine
from apps.ui.forms import RULE_FIELDS, AlertRuleForm
from apps.ui.selectors import INBOX_TABS, alert_counts, alert_inbox
from apps.ui.services import machine_alert_settings_update

RESOLVE_ACTIONS = {
    "resolve": ("", "Resolved"),
    "false_alarm": (Alert.Outcome.FALSE_ALARM, "Resolved as a false alarm: its layers are labeled good"),
    "confirmed": (Alert.Outcome.CONFIRMED, "Resolved as confirmed: its layers are labeled defective"),
}


def staff_required(view):
    """Signed-in operators who are not admins get 403, not a login page they cannot pass."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only admins change alert settings.")
        return view(request, *args, **kwargs)

    return wrapped


@login_required
def alerts_inbox(request):
    status = request.GET.get("status") or Alert.Status.OPEN
    if status not in INBOX_TABS:
        status = Alert.Status.OPEN
    machines = list(Machine.objects.order_by("name"))
    machine = next((m for m in machines if m.slug == request.GET.get("machine")), None)
    page = Paginator(alert_inbox(status=status, machine=machine), 25).get_page(request.GET.get("page"))
    counts = alert_counts(machine=machine)
    context = {
        "tabs": [(value, label, counts[value]) for value, label in INBOX_TABS.items()],
        "status": status,
        "machines": machines,
        "machine": machine,
        "page": page,
    }
    return render(request, "ui/alerts_inbox.html", context)


def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("ui:alerts")


@login_required
@require_POST
def alert_acknowledge_view(request, alert_id: int):
    alert = get_object_or_404(Alert, pk=alert_id)
    try:
        alert_acknowledge(alert=alert, user=request.user)
        messages.success(request, f"Alert #{alert.pk} acknowledged.")
    except AlertStateError as error:
        messages.error(request, str(error))
    return _back(request)


@login_required
@require_POST
def alert_resolve_view(request, alert_id: int):
    alert = get_object_or_404(Alert, pk=alert_id)
    outcome, done = RESOLVE_ACTIONS.get(request.POST.get("action", "resolve"), RESOLVE_ACTIONS["resolve"])
    try:
        alert_resolve(alert=alert, user=request.user, outcome=outcome)
        messages.success(request, f"Alert #{alert.pk}: {done}.")
    except AlertStateError as error:
        messages.error(request, str(error))
    return _back(request)


def _rule_initial(machine: Machine) -> tuple[AlertRule | None, dict]:
    """The machine's own rule, or the values a new one starts from: the fleet default's."""
    own = AlertRule.objects.filter(machine=machine).first()
    source = own or AlertRule.objects.filter(machine__isnull=True).first() or AlertRule(**RuleParams().__dict__)
    initial = {name: getattr(source, name) for name in RULE_FIELDS}
    initial.update(pause_on_critical=machine.pause_on_critical, pause_url=machine.pause_url)
    return own, initial


@staff_required
def machine_alert_settings(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    own, initial = _rule_initial(machine)
    if request.method == "POST":
        form = AlertRuleForm(request.POST, instance=AlertRule(machine=machine))
        if form.is_valid():
            machine_alert_settings_update(
                machine=machine,
                rule_values=form.rule_values(),
                pause_on_critical=form.cleaned_data["pause_on_critical"],
                pause_url=form.cleaned_data["pause_url"],
                actor=request.user,
            )
            messages.success(request, f"Saved the alert rule for {machine.name}.")
            return redirect("ui:machine-alerts", slug=slug)
    else:
        form = AlertRuleForm(initial=initial)
    context = {
        "machine": machine,
        "form": form,
        "own_rule": own,
        "channels": channels_for(machine=machine).order_by("machine_id", "name"),
        "tests": Delivery.objects.filter(machine=machine, event="test").select_related("channel")[:10],
    }
    return render(request, "ui/machine_alerts.html", context)


@staff_required
@require_POST
def machine_test_alert(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    deliveries = machine_test_alert_send(machine=machine, requested_by=request.user.get_username())
    if deliveries:
        names = ", ".join(d.channel.name for d in deliveries)
        messages.success(request, f"Test alert queued to {len(deliveries)} channel(s): {names}.")
    else:
        messages.error(request, "No active notification channel for this machine or the fleet.")
    return redirect("ui:machine-alerts", slug=slug)
