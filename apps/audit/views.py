from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.audit.selectors import audit_actions, audit_list
from apps.machines.models import Machine


@login_required
def audit_log(request):
    machines = list(Machine.objects.order_by("name"))
    machine = next((m for m in machines if m.slug == request.GET.get("machine")), None)
    action = request.GET.get("action", "").replace("\x00", "")  # PostgreSQL refuses NUL in a query
    page = Paginator(audit_list(machine=machine, action=action), 50).get_page(request.GET.get("page"))
    context = {"page": page, "machines": machines, "machine": machine, "actions": audit_actions(), "action": action}
    return render(request, "audit/log.html", context)
