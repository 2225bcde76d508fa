from django.core.wsgi import get_wsgi_application

from config.env import configure

configure()
application = get_wsgi_application()

# Imported once Django is set up: production refuses to serve with the demo's known credentials.
from config.security import known_credentials_refuse  # noqa: E402

known_credentials_refuse()
