export interface StreamEventsRequest {
}
export interface StreamEventsRequest__Output {
}
