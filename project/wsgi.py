import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()
# What is loaded by now (Django, the app, their settings and URLs) lives as long as the
# process: the garbage collector's full passes need not walk it again and again. A sync batch
# of 500 check-ins spent a third of its time in them before (bench/README.md).
gc.freeze()
