// Text assets imported `with { type: "text" }` are embedded in the binary.
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.yaml" {
  const text: string;
  export default text;
}
