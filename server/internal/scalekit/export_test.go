package scalekit

// JWKSRefetchInterval lets the black-box tests move the clock past the floor.
const JWKSRefetchInterval = jwksRefetchInterval
