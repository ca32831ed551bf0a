#![allow(clippy::unwrap_used)]

use super::*;
use esp_rom_protocol::command::Request;
use esp_rom_protocol::response::Response;
use espboot_sim::config::Target;
use espboot_sim::device::Device;
use proptest::prelude::*;

fn machine(target: Target) -> Machine {
    let device = Device::create(target, &[], None).unwrap();
    Machine::unsaved(std::path::Path::new("/nonexistent"), device).unwrap()
}

/// Every reply a frame produces, decoded.
fn replies(out: &[u8]) -> Vec<Vec<u8>> {
    let mut d = slip::Decoder::new(usize::MAX);
    d.push_all(out).into_iter().map(|r| r.unwrap()).collect()
}

const OPS: [u8; 24] = [
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12,
    0x13, 0x14, 0xD0, 0xD1, 0xD2, 0xD3, 0x19, 0xFF,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Requests with any opcode and any data never panic the loader,
    /// ROM or stub, and every reply is a well-formed response.
    #[test]
    fn any_request_gets_an_answer_or_nothing(
        requests in proptest::collection::vec(
            (0usize..OPS.len(), proptest::collection::vec(any::<u32>(), 0..8), any::<bool>()),
            1..24,
        ),
        stub in any::<bool>(),
        esp32 in any::<bool>(),
    ) {
        let mut m = machine(if esp32 { Target::Esp32 } else { Target::Esp32c3 });
        let mut loader = Loader::new(false);
        loader.stub = stub;
        for (op, words, checksum_ok) in requests {
            let data: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let chk = if checksum_ok { esp_rom_protocol::command::checksum(data.get(16..).unwrap_or(&[])) } else { 1 };
            let req = Request::new(Opcode::from_byte(OPS[op]), data, chk);
            let mut out = Vec::new();
            let _ = loader.on_frame(&mut m, &req.to_bytes(), &mut out);
            for reply in replies(&out) {
                if reply.first() == Some(&1) {
                    prop_assert!(Response::parse(&reply, 0).is_ok());
                }
            }
        }
        loader.finish_write(&mut m);
    }
}

#[test]
fn bad_flash_data_checksum_is_refused_rom_and_stub() {
    for stub in [false, true] {
        let mut m = machine(Target::Esp32c3);
        let mut loader = Loader::new(false);
        loader.stub = stub;
        let mut out = Vec::new();
        let begin = Request::words(Opcode::FlashBegin, &[0x400, 1, 0x400, 0x30000, 0]);
        loader.on_frame(&mut m, &begin.to_bytes(), &mut out);
        let mut block = Request::block(Opcode::FlashData, 0, &[7u8; 0x400]);
        block.checksum ^= 0xFF;
        out.clear();
        loader.on_frame(&mut m, &block.to_bytes(), &mut out);
        let reply = &replies(&out)[0];
        let status = if stub {
            &[0xC1, 0][..]
        } else {
            &[1, 7, 0, 0][..]
        };
        assert_eq!(&reply[8..], status);
    }
}
