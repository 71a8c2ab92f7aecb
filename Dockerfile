# scratchpack's own image: the static binary (make build) in a scratch
# image, for builders to COPY --from=... /scratchpack.
FROM scratch
COPY bin/scratchpack /scratchpack
ENTRYPOINT ["/scratchpack"]
