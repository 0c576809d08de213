FROM rockylinux:9
RUN dnf install -y httpd \
    && dnf clean all
EXPOSE 80
CMD ["httpd", "-DFOREGROUND"]
