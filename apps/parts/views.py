"""The part verdict rule's page: everyone reads it, admins change it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from apps.parts.forms import PartVerdictRuleForm
from apps.parts.selectors import part_verdict_rule
from apps.parts.services import part_verdict_rule_update


@login_required
def verdict_rule(request):
    rule = part_verdict_rule()
    can_edit = request.user.is_staff
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only admins change the part verdict rule.")
        form = PartVerdictRuleForm(request.POST, instance=rule)
        if form.is_valid():
            part_verdict_rule_update(rule=rule, **form.cleaned_data)
            messages.success(request, "Saved the part verdict rule.")
            return redirect("ui:part-verdict-rule")
        status = 400
    else:
        form, status = PartVerdictRuleForm(instance=rule), 200
    return render(request, "parts/verdict_rule.html", {"form": form, "can_edit": can_edit}, status=status)
