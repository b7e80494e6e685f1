# Image for `astro dev start` / Astro deployments. The Astro Runtime installs requirements.txt
# and packages.txt on build; `apache-airflow==3.3.2` there is satisfied by the runtime's own
# 3.3.2+astro.N build (PEP 440 ignores local version labels).
FROM astrocrpublic.azurecr.io/runtime:3.3-1
