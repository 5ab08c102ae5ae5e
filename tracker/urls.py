"""Every route of the app. Each names the view that renders it: pages in tracker/views/ (one
module per audience), JSON in tracker/api.py, the app shell in pwa.py and health.py
(tests/test_urls.py holds every route to this)."""

from django.urls import include, path

from tracker import api, health, pwa
from tracker.views import account, clinic, diary, relief, sharing, team

patient_id = "clinic/patients/<int:patient_id>"

urlpatterns = [
    # The app shell: no patient data.
    path("healthz", health.healthz, name="healthz"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("offline/", pwa.offline, name="offline"),
    # The patient's diary.
    path("", diary.home, name="home"),
    path("today/", diary.log_day, name="today"),
    path("day/<str:day>/", diary.log_day, name="log_day"),
    path("impression/", diary.global_impression, name="global_impression"),
    path("next-appointment.ics", diary.next_appointment_ics, name="next_appointment_ics"),
    path("history/", diary.history, name="history"),
    path("injections/", diary.injection_list, name="injection_list"),
    path("injections/new/", diary.injection_edit, name="injection_new"),
    path("injections/<uuid:pk>/", diary.injection_detail, name="injection_detail"),
    path("injections/<uuid:pk>/edit/", diary.injection_edit, name="injection_edit"),
    path("injections/<uuid:pk>/delete/", diary.injection_delete, name="injection_delete"),
    path("reactions/", diary.reaction_list, name="reaction_list"),
    path("reactions/new/", diary.reaction_new, name="reaction_new"),
    path("reactions/<uuid:pk>/edit/", diary.reaction_edit, name="reaction_edit"),
    path("reactions/<uuid:pk>/resolve/", diary.reaction_resolve, name="reaction_resolve"),
    path("reactions/<uuid:pk>/delete/", diary.reaction_delete, name="reaction_delete"),
    path("relief/", relief.relief, name="relief"),
    # Sharing, from the patient's side.
    path("sharing/", sharing.sharing, name="sharing"),
    path("sharing/code/", sharing.share_code, name="share_code"),
    path("sharing/<int:pk>/stop/", sharing.share_revoke, name="share_revoke"),
    path("share/accept/<str:token>/", sharing.share_accept, name="share_accept"),
    # The patient's account.
    path("welcome/", account.onboarding, name="onboarding"),
    path("verify-email/", account.verify_email, name="verify_email"),
    path("settings/", account.settings_view, name="settings"),
    path("settings/reminders/", account.reminder_settings, name="reminder_settings"),
    path("settings/numbers/", account.numbers_settings, name="numbers_settings"),
    path("settings/identity/", account.identity_settings, name="identity_settings"),
    path("export/diary.csv", account.export_csv, name="export_csv"),
    path("export/diary.fhir.json", account.export_fhir, name="export_fhir"),
    path("account/data.json", account.data_json, name="account_data_json"),
    path("account/data.csv", account.data_csv, name="account_data_csv"),
    path("account/delete/", account.account_delete, name="account_delete"),
    # The clinic.
    path("clinic/", clinic.clinic, name="clinic"),
    path("clinic/invite/", clinic.clinic_invite, name="clinic_invite"),
    path("clinic/summaries.pdf", clinic.summaries_pdf, name="clinic_summaries_pdf"),
    path("clinic/printed/<int:pk>/", clinic.print_batch, name="clinic_print_batch"),
    path(
        "clinic/printed/<int:pk>/summaries.pdf",
        clinic.print_batch_pdf,
        name="clinic_print_batch_pdf",
    ),
    path("clinic/invite/<int:pk>/", clinic.clinic_invitation, name="clinic_invitation"),
    path("clinic/settings/", clinic.clinic_settings, name="clinic_settings"),
    path("clinic/team/", team.team, name="team"),
    path("clinic/team/<int:pk>/details/", team.clinic_details, name="team_clinic_details"),
    path("clinic/team/members/<int:pk>/remove/", team.member_remove, name="team_member_remove"),
    path(
        "clinic/team/invitations/<int:pk>/withdraw/",
        team.invitation_withdraw,
        name="team_invitation_withdraw",
    ),
    path("clinic/join/<str:token>/", team.join, name="team_join"),
    path(f"{patient_id}/", clinic.report_page, name="clinic_report"),
    path(f"{patient_id}/summary/", clinic.summary_page, name="clinic_summary"),
    path(f"{patient_id}/summary.pdf", clinic.summary_pdf, name="clinic_summary_pdf"),
    path(f"{patient_id}/export.csv", clinic.clinic_export_csv, name="clinic_export_csv"),
    path(f"{patient_id}/fhir.json", clinic.clinic_export_fhir, name="clinic_export_fhir"),
    path(
        f"{patient_id}/injections/new/",
        clinic.clinic_injection_new,
        name="clinic_injection_new",
    ),
    path(
        f"{patient_id}/reactions/<uuid:pk>/handled/",
        clinic.reaction_handled,
        name="clinic_reaction_handled",
    ),
    path("api/v1/", include((api.urlpatterns, "api"))),
]
