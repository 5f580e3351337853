// gemm_pkg: what the GEMM engine's blocks share beyond their ports.
//
// Weight codes sit in DDR and in the B banks in containers: a code of WBits
// bits (1..8) takes the smallest of 1, 2, 4 and 8 bits that holds it, the
// code in the low bits and the spare high bits zero. A container divides a
// 64-bit word, so no code straddles two words, and code k of a row is at
// bits (k % (64 / CBits)) * CBits of word k / (64 / CBits). The PEs still
// see WBits bits. kiln_spec::code_container_bits is the same rule in Rust
// (docs/gemm-layouts.md).
package gemm_pkg;

  // Bits of the container a WBits-bit weight code is stored in.
  function automatic int unsigned code_container_bits(int unsigned wbits);
    if (wbits <= 1) begin
      code_container_bits = 1;
    end else if (wbits <= 2) begin
      code_container_bits = 2;
    end else if (wbits <= 4) begin
      code_container_bits = 4;
    end else begin
      code_container_bits = 8;
    end
  endfunction

endpackage
