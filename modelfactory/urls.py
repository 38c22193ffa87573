from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from modelfactory.dashboard import views as dashboard_views
from modelfactory.health import views as health_views
from modelfactory.observability import views as observability_views

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("healthz", health_views.healthz, name="healthz"),
    path("status/", health_views.status_page, name="status"),
    # Probes: the process answers (a restart fixes a hung one) / this replica can serve (load balancers).
    path("livez", health_views.livez, name="livez"),
    path("readyz", health_views.readyz, name="readyz"),
    # Prometheus; a 404 to anyone without the token or an allowed address (observability/metrics_access.py).
    path("metrics", observability_views.metrics, name="metrics"),
    path("accounts/", include("modelfactory.accounts.urls")),  # sign-up, log in/out, profile, passwords
    path("datanets/", include("datanets.urls")),
    path("finetune/", include("modelfactory.finetuning.urls")),
    path("models/", include("modelfactory.catalog.urls")),
    path("playground/", include("modelfactory.playground.urls")),
    path("", include("modelfactory.api.urls")),  # /v1/... and /account/api-keys/
    path("", include("modelfactory.ledger.urls")),  # /earnings/, /ledger/, /receipts/...
    path("", include("modelfactory.vault.urls")),  # /wallet/deposit/, /wallet/withdraw/...
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links; answer instead of logging a 404.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
]
